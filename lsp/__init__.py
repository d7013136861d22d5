"""CodeFusion language server (pygls): turns natural-language comments into code candidates."""
