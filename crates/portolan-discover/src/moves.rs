//! `move`: every reference to a service's current port in a repository, with its
//! confidence, and the rewrite of the high-confidence ones.
