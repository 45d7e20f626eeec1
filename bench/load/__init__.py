"""Load benchmark: a mixed read/write workload against a running netregistry server."""
