//! Markdown import.
