"""`codefusion eval`: metrics (BLEU, template match, CF execution), the harness, the model card."""
