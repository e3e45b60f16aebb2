//! Reading CSV files: an RFC 4180 parser, record-aligned chunks for parallel parsing, and type
//! inference.
