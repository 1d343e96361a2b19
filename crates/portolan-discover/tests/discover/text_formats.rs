//! nginx, Dockerfile, systemd, Procfile and application-code parsers.
