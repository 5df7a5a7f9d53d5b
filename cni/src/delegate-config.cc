#include "delegate.h"

namespace cni {

std::string delegateVersion(const std::string& version) { return version == "1.1.0" ? "1.0.0" : version; }

namespace {

Value rangeOf(const std::string& subnet) {
  Value r = Value::makeObject();
  r.set("subnet", Value::makeString(subnet));
  Value set = Value::makeArray();
  set.items.push_back(r);
  return set;
}

Value routeTo(const std::string& dst) {
  Value r = Value::makeObject();
  r.set("dst", Value::makeString(dst));
  return r;
}

/** The input ipam (host-local by default) with flannel's ranges and the routes to the networks added. */
Value delegateIpam(const NetConf& n, const SubnetEnv& se) {
  Value ipam = n.ipam ? *n.ipam : Value::makeObject();
  if (!ipam.has("type")) ipam.set("type", Value::makeString("host-local"));
  Value ranges = Value::makeArray();
  if (se.subnet) ranges.items.push_back(rangeOf(*se.subnet));
  if (se.ipv6Subnet) ranges.items.push_back(rangeOf(*se.ipv6Subnet));
  ipam.set("ranges", ranges);
  Value routes = Value::makeArray();
  routes.items = n.ipamRoutes;
  for (const std::string& nw : se.networks) routes.items.push_back(routeTo(nw));
  for (const std::string& nw : se.ipv6Networks) routes.items.push_back(routeTo(nw));
  ipam.set("routes", routes);
  return ipam;
}

}  // namespace

Value buildDelegateConfig(const NetConf& n, const SubnetEnv& se) {
  Value d = n.delegate ? *n.delegate : Value::makeObject();
  if (n.runtimeConfig) d.set("runtimeConfig", *n.runtimeConfig);
  d.set("name", Value::makeString(n.name));
  if (!d.has("type")) d.set("type", Value::makeString("bridge"));
  // Masquerade at the bridge only when flanneld does not.
  if (!d.has("ipMasq")) d.set("ipMasq", Value::makeBool(!se.ipMasq));
  if (!d.has("mtu")) d.set("mtu", Value::makeNumber(se.mtu));
  const Value* type = d.get("type");
  if (type->isString() && type->text == "bridge" && !d.has("isGateway")) d.set("isGateway", Value::makeBool(true));
  if (!n.cniVersion.empty()) d.set("cniVersion", Value::makeString(delegateVersion(n.cniVersion)));
  d.set("ipam", delegateIpam(n, se));
  return d;
}

}  // namespace cni
