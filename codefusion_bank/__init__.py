"""The Bash exemplar bank the wheel ships: tldr-pages (CC BY 4.0, tldr-pages team and contributors,
https://github.com/tldr-pages/tldr at 08e345f42639f67d99282813247ac670dc6e87cb); see ATTRIBUTION.md.
Data only: engine/banks.py loads it."""
