#pragma once
// A fault-injecting TCP proxy for the fault tests, on loopback: it listens on
// 127.0.0.1 (a port the kernel picks) and relays every connection to an
// upstream host:port. The test switches it at any time:
//   kPass   relay bytes as they come;
//   kDelay  hold each chunk for `delay` before relaying it (a slow link);
//   kStall  accept connections but relay nothing (a hung peer); bytes wait
//           in the sockets and flow again once the mode is kPass.
// One thread per connection; everything is closed and joined on destruction.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace crm::fault {

class FaultProxy {
 public:
  enum class Mode { kPass, kDelay, kStall };

  // Listens at once; connections accepted before set_upstream() wait for it.
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(std::string upstream_host = "", int upstream_port = 0);
  ~FaultProxy();

  void set_upstream(std::string host, int port);
  void set_mode(Mode mode, absl::Duration delay = absl::ZeroDuration());

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"
  int connections() const { return connections_.load(); }

 private:
  FaultProxy() = default;
  void AcceptLoop();
  void Relay(int client);
  // The mode now and the delay, or false once stopping.
  bool Current(Mode& mode, absl::Duration& delay);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  absl::Mutex mu_;
  std::string upstream_host_ ABSL_GUARDED_BY(mu_);
  int upstream_port_ ABSL_GUARDED_BY(mu_) = 0;
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kPass;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
  std::vector<std::thread> relays_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crm::fault
