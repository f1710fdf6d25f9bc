// File: metrics/http_endpoint.h
//
// `MetricsEndpoint` serves a `Registry` for Prometheus to scrape: plain
// HTTP (cpp-httplib), `GET /metrics` answers the text exposition format
// (Content-Type text/plain; version=0.0.4), every other path 404. It runs
// on its own listener and two threads, so a slow scraper never holds up
// the gRPC service. Off unless a binary is given an address
// (fedge-coordinator: --metrics-listen / [server] metrics_listen).
//
// The endpoint has no TLS and no authentication: bind it to 127.0.0.1 or a
// management network, as Prometheus exporters usually are.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(auto endpoint, MetricsEndpoint::Start("127.0.0.1:9464", &registry));
//   LOG << "metrics on port " << endpoint->port();
//
// Thread-safety: Start/port/destructor from one thread; requests are served
// concurrently with anything else using the registry.
#ifndef FEDGE_METRICS_HTTP_ENDPOINT_H_
#define FEDGE_METRICS_HTTP_ENDPOINT_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "metrics/registry.h"

namespace httplib {
class Server;
}

namespace fedge::metrics {

class MetricsEndpoint {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one) and serves
  // `registry` (borrowed; must outlive the endpoint). kInvalidArgument for a
  // malformed address, kUnavailable when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address, Registry* registry);
  // Stops listening and waits for requests in flight.
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound port (the chosen one when started with port 0).
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

}  // namespace fedge::metrics

#endif  // FEDGE_METRICS_HTTP_ENDPOINT_H_
