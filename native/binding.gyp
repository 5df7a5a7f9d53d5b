{
  "targets": [
    {
      "target_name": "flannel_native",
      "sources": ["src/addon.cc", "src/nl-socket.cc", "src/nl-monitor.cc", "src/netns.cc", "src/icmp.cc",
                  "src/udp-addon.cc", "src/udp-addon-test.cc", "src/udp-loop.cc", "src/udp-tx.cc", "src/udp-rx.cc",
                  "src/udp-routes.cc", "src/udp-packet.cc", "src/udp-offload.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
