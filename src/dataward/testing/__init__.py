"""Real servers started from Debian's binaries on free loopback ports, for tests, benches and the demo."""
