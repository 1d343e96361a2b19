//! compose, .env and Kubernetes parsers.
