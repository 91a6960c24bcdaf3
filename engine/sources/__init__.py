"""Where a problem's rows come from, before the split: a CSV file (`csv_file`), scikit-learn's
bundled datasets (`bundled`), the grokking set (`grokking`), and the class labels of a
classification target (`labels`). `engine.data` splits and scales them. Import the modules
themselves: this package imports nothing."""
