"""Edge Gateway: the public gRPC API (contracts/proto/galaxy/gateway/v1/gateway.proto)."""
