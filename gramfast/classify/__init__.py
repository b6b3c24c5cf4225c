"""The sentence classifier: an LSTM over pretrained word, grammar and context rows."""
