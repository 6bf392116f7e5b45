"""Article extraction parts: decoding, HTML and PDF text, page metadata, feed fallbacks."""
