#include "common/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace crm::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    const std::string& log_path) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // The test may block SIGTERM in its own threads; the child must not inherit that.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  const int rc = posix_spawn(&child->pid_, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], " failed: ", rc));
  ChildProcess* self = child.get();
  child->reaper_ = std::thread([self] {
    int status = 0;
    while (waitpid(self->pid_, &status, 0) < 0 && errno == EINTR) {
    }
    self->status_ = status;
    self->exited_.Notify();
  });
  return child;
}

ChildProcess::~ChildProcess() {
  if (!exited_.HasBeenNotified()) Signal(SIGKILL);
  if (reaper_.joinable()) reaper_.join();
}

void ChildProcess::Signal(int sig) const {
  if (pid_ > 0 && !exited_.HasBeenNotified()) kill(pid_, sig);
}

std::optional<int> ChildProcess::WaitFor(absl::Duration timeout) {
  if (!exited_.WaitForNotificationWithTimeout(timeout)) return std::nullopt;
  return status_;
}

std::optional<std::string> WaitForFileLine(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) return line;
    absl::SleepFor(absl::Milliseconds(20));  // the file appears once the server listens
  }
  return std::nullopt;
}

}  // namespace crm::testing
