"""`python -m batch_uploader` behaves exactly like the `batch-uploader` command."""

from batch_uploader.cli import main

if __name__ == "__main__":
    main()
