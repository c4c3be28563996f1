"""HTTP: the contract routes, the control API and the interceptor in front of both."""
