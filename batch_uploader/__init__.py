"""batch-uploader: shipment tracking from carrier export files into Flxpoint, exactly once."""

__version__ = "0.1.0"
