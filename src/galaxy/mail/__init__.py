"""Mail Service: templated mail over HTTP and ``mail:deliveries`` (contracts/http/mail.openapi.yaml)."""
