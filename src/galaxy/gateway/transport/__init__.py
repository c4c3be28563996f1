"""The gateway's public gRPC surface: servicer, status mapping, metrics, health."""
