"""Conversion certificates: the issuing rule, numbering, signed PDFs and public verification."""
