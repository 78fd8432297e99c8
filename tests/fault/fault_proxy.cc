#include "tests/fault/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace crm::fault {
namespace {

// Every blocking wait in the proxy wakes this often to see a mode change or
// the stop.
constexpr int kPollMs = 20;

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int ConnectTo(const std::string& host, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(std::string upstream_host, int upstream_port) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy());
  proxy->set_upstream(std::move(upstream_host), upstream_port);
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (proxy->listen_fd_ < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(proxy->listen_fd_, 128) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError(absl::StrCat("cannot listen on loopback: errno ", errno));
  }
  proxy->port_ = ntohs(addr.sin_port);
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> relays;
  {
    absl::MutexLock lock(&mu_);
    relays.swap(relays_);
  }
  for (std::thread& t : relays) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void FaultProxy::set_upstream(std::string host, int port) {
  absl::MutexLock lock(&mu_);
  upstream_host_ = std::move(host);
  upstream_port_ = port;
}

void FaultProxy::set_mode(Mode mode, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mode_ = mode;
  delay_ = delay;
}

std::string FaultProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

bool FaultProxy::Current(Mode& mode, absl::Duration& delay) {
  absl::MutexLock lock(&mu_);
  mode = mode_;
  delay = delay_;
  return !stopping_;
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    ++connections_;
    absl::MutexLock lock(&mu_);
    relays_.emplace_back([this, client] { Relay(client); });
  }
}

void FaultProxy::Relay(int client) {
  const int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Mode mode;
  absl::Duration delay;
  // A stalled proxy accepts but does not even connect upstream yet.
  int upstream = -1;
  while (upstream < 0 && Current(mode, delay)) {
    std::string host;
    int port;
    {
      absl::MutexLock lock(&mu_);
      host = upstream_host_;
      port = upstream_port_;
    }
    if (mode == Mode::kStall || port == 0) {
      poll(nullptr, 0, kPollMs);
      continue;
    }
    upstream = ConnectTo(host, port);
    if (upstream < 0) break;  // the upstream is down: the client sees the connection close
  }
  char buffer[16384];
  bool open = upstream >= 0;
  while (open && Current(mode, delay)) {
    if (mode == Mode::kStall) {
      poll(nullptr, 0, kPollMs);
      continue;
    }
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (poll(fds, 2, kPollMs) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = recv(fds[i].fd, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        open = false;
        break;
      }
      if (mode == Mode::kDelay) absl::SleepFor(delay);  // the injected slowness
      open = WriteAll(fds[1 - i].fd, buffer, static_cast<size_t>(n));
    }
  }
  if (upstream >= 0) close(upstream);
  close(client);
}

}  // namespace crm::fault
