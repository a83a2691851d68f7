//! Label and field selectors: typed builders, a parser and matching.
