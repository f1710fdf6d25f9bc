#include "coordinator/server_credentials.h"

namespace fedge {

std::shared_ptr<grpc::ServerCredentials> ServerTlsCredentials(const TlsKeyCertPair& tls,
                                                              const std::string& client_ca_pem,
                                                              bool allow_without_certificate) {
  const grpc_ssl_client_certificate_request_type request_type =
      client_ca_pem.empty()       ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
      : allow_without_certificate ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  grpc::SslServerCredentialsOptions ssl(request_type);
  ssl.pem_root_certs = client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace fedge
