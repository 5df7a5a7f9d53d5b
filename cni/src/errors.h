// CNI errors. A plugin reports failure as one JSON object on stdout and exit code 1; the codes are
// the CNI spec's well-known ones (0-99), plus libcni's 999 for "internal".
#pragma once
#include <string>

namespace cni {

enum Code {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIOFailure = 5,
  kDecodingFailure = 6,
  kInvalidNetworkConfig = 7,
  kTryAgainLater = 11,
  kPluginNotAvailable = 50,
  kInternal = 999,
};

/** A failure to report to the runtime: `code`, a short `msg`, and `details` for the operator. */
struct CniError {
  /** The code as JSON number text: a delegate's own code passes through as it printed it. */
  std::string code;
  std::string msg;
  std::string details;

  CniError(int c, std::string m, std::string d = "") : code(std::to_string(c)), msg(std::move(m)), details(std::move(d)) {}
  CniError(std::string c, std::string m, std::string d) : code(std::move(c)), msg(std::move(m)), details(std::move(d)) {}

  /** What JavaScript's Error message was: "msg: details", or msg alone. */
  std::string message() const { return details.empty() ? msg : msg + ": " + details; }
};

}  // namespace cni
