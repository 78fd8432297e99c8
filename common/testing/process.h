#pragma once
// A child process for end-to-end tests: started with an explicit
// environment, signalled, and waited for with a deadline. The destructor
// kills and reaps it, so a failing test never leaves a process behind.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace crm::testing {

class ChildProcess {
 public:
  // argv[0] is the executable path. `env` replaces the environment; output
  // goes to `log_path`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
      const std::string& log_path);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // The raw wait status once the process has exited, nullopt at the deadline.
  std::optional<int> WaitFor(absl::Duration timeout);

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  int status_ = 0;
  absl::Notification exited_;
  std::thread reaper_;
};

// Waits until `path` holds a complete line (a port file) or the deadline.
std::optional<std::string> WaitForFileLine(const std::string& path, absl::Duration timeout);

}  // namespace crm::testing
