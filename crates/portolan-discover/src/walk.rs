//! Walking a tree: which files are which format ([`classify`]), reading them in parallel
//! (honouring `.gitignore`), and collecting one sorted [`Discovery`].
