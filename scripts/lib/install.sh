# Shared install steps for scripts/test.sh and the demo: each installs only what is missing.

install_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Node.js 20.19 or newer (mocha 12 and our engines field need it). When the system's node is missing or
# older (Debian 12 ships 18), the official build is taken from the npm registry, where it is published as
# the package node-linux-<arch> (binary and headers, no npm), into .tools/node of the checkout, and put
# first on the PATH for every later step. Debian's npm (9, which runs on Node 20) does the installing.
NODE_PKG_VERSION=20.19.5

node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}

require_node() {
  local prefix="$PWD/.tools/node" arch
  if command -v node >/dev/null 2>&1 && node_ok node; then return 0; fi
  if [ ! -x "$prefix/bin/node" ] || ! node_ok "$prefix/bin/node"; then
    command -v npm >/dev/null 2>&1 || install_debian_packages nodejs npm
    case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    echo "installing Node.js $NODE_PKG_VERSION into $prefix ($(command -v node >/dev/null 2>&1 && node --version || echo 'no node') is too old or missing)" >&2
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_PKG_VERSION" >/dev/null)
    rm -rf "$prefix" && mkdir -p "$prefix"
    tar xzf "$tmp"/node-linux-*.tgz -C "$prefix" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$prefix/bin:$PATH"
  hash -r
  if ! node_ok node; then
    echo "flannel-ts needs Node.js >= 20.19, found $(node --version); install a newer Node.js first" >&2
    exit 1
  fi
}

install_npm_packages() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
}
