"""carriers.py: carrier codes and names of shipping software → the names channels know."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_uploader import carriers
from batch_uploader.carriers import CarrierTable, SentCarrier, squash
from batch_uploader.errors import ConfigError


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-user configuration folder (BATCH_UPLOADER_CONFIG_DIR)."""
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv(carriers.CONFIG_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def table(config_dir: Path) -> CarrierTable:
    """The bundled table alone."""
    return CarrierTable.load()


@pytest.mark.parametrize(
    ("cell", "carrier"),
    [
        # ShipStation carrier codes
        ("stamps_com", "USPS"),
        ("usps", "USPS"),
        ("endicia", "USPS"),
        ("ups", "UPS"),
        ("ups_walleted", "UPS"),
        ("fedex", "FedEx"),
        ("fedex_walleted", "FedEx"),
        ("dhl_express_worldwide", "DHL Express"),
        ("dhl_express", "DHL Express"),
        ("dhl_ecommerce", "DHL eCommerce"),
        ("dhl_global_mail", "DHL eCommerce"),
        ("ontrac", "OnTrac"),
        ("amazon_shipping_v2", "Amazon Shipping"),
        ("canada_post", "Canada Post"),
        ("royal_mail", "Royal Mail"),
        ("australia_post", "Australia Post"),
        ("purolator_ca", "Purolator"),
        # marketplace and store names
        ("United Parcel Service", "UPS"),
        ("Federal Express", "FedEx"),
        ("FDX", "FedEx"),
        ("US Postal Service", "USPS"),
        ("U.S. Postal Service", "USPS"),
        ("United States Postal Service", "USPS"),
        ("DHL Global Mail", "DHL eCommerce"),
        ("Amazon Logistics", "Amazon Shipping"),
        ("LaserShip", "LaserShip"),
        ("LS", "LaserShip"),
        # spelling: case, spaces, `_`, `-`, `.`
        ("USPS", "USPS"),
        ("  Ups ", "UPS"),
        ("FED-EX", "FedEx"),
        ("Canada-Post", "Canada Post"),
        ("STAMPS.COM", "USPS"),
    ],
)
def test_known_spellings_become_the_channel_name(
    table: CarrierTable, cell: str, carrier: str
) -> None:
    """Codes and names of shipping software and marketplaces map to one carrier name."""
    sent = table.resolve(cell, None)
    assert sent.carrier == carrier
    assert sent.method is None
    assert sent.changed is (cell != carrier)


@pytest.mark.parametrize(
    ("cell", "carrier", "method"),
    [
        ("UPS Ground", "UPS", "Ground"),
        ("ups_ground", "UPS", "Ground"),
        ("ups_next_day_air_saver", "UPS", "Next Day Air Saver"),
        ("ups_2nd_day_air", "UPS", "2nd Day Air"),
        ("fedex_2day", "FedEx", "2Day"),
        ("FedEx 2Day", "FedEx", "2Day"),
        ("FedEx Home Delivery", "FedEx", "Home Delivery"),
        ("fedex_home_delivery", "FedEx", "Home Delivery"),
        ("fedex_smartpost", "FedEx", "SmartPost"),
        ("FedEx SmartPost", "FedEx", "SmartPost"),
        ("FEDEXSP", "FedEx", "SmartPost"),
        ("UPSMI", "UPS", "Mail Innovations"),
        ("usps_priority_mail", "USPS", "Priority Mail"),
        ("USPS Priority Mail", "USPS", "Priority Mail"),
        ("USPS Ground Advantage", "USPS", "Ground Advantage"),
        ("U.S. Postal Service First Class Mail", "USPS", "First Class Mail"),
        ("dhl_ecommerce_parcel_ground", "DHL eCommerce", "Parcel Ground"),
        # services the table does not list: a code is made readable, text stays as written
        ("usps_some_new_service", "USPS", "Some New Service"),
        ("UPS Super Fast", "UPS", "Super Fast"),
    ],
)
def test_a_service_in_the_carrier_cell_becomes_the_method(
    table: CarrierTable, cell: str, carrier: str, method: str
) -> None:
    """`UPS Ground` with an empty Method is sent as carrier UPS, method Ground."""
    assert table.resolve(cell, None) == SentCarrier(carrier, method, True)
    assert table.resolve(cell, "") == SentCarrier(carrier, method, True)


def test_a_filled_method_is_never_replaced(table: CarrierTable) -> None:
    """The Method cell wins over a service in the carrier cell; the carrier is still mapped."""
    assert table.resolve("UPS Ground", "Next Day Air") == SentCarrier("UPS", "Next Day Air", True)
    assert table.resolve("FEDEXSP", "Ground") == SentCarrier("FedEx", "Ground", True)
    assert table.resolve("UPS", "Ground") == SentCarrier("UPS", "Ground", False)


@pytest.mark.parametrize(
    "cell",
    [
        "Acme Freight",
        "DHL",  # DHL Express or DHL eCommerce? not guessed
        "UPSide Freight",  # starts with "ups" but is another word
        "RM 48 Medium Parcel",  # short aliases match whole cells only
        "Local courier",
    ],
)
def test_unknown_carriers_are_sent_as_they_are(table: CarrierTable, cell: str) -> None:
    """A carrier the table does not know is returned unchanged, method and all."""
    assert table.resolve(cell, None) == SentCarrier(cell, None, False)
    assert table.resolve(cell, "Express") == SentCarrier(cell, "Express", False)


@pytest.mark.parametrize(("carrier", "method"), [(None, None), ("", "Ground"), ("  ", None)])
def test_an_empty_carrier_is_left_alone(
    table: CarrierTable, carrier: str | None, method: str | None
) -> None:
    """No carrier, nothing to map."""
    assert table.resolve(carrier, method) == SentCarrier(carrier, method, False)


def test_answers_are_remembered_per_distinct_carrier_and_method(table: CarrierTable) -> None:
    """A million rows naming the same carrier cost one lookup."""
    first = table.resolve("ups_ground", None)
    assert table.resolve("ups_ground", None) is first
    assert table.resolve("ups_ground", "Ground") is not first


def test_squash_ignores_case_spaces_underscores_hyphens_and_dots() -> None:
    """The matching key drops what clerks and exports vary."""
    assert squash("U.S. Postal-Service") == squash("us_postal_service") == "uspostalservice"


def test_a_user_file_overrides_and_adds_entries(config_dir: Path) -> None:
    """The user's carriers.toml adds carriers and takes over spellings of the bundled one."""
    (config_dir / "carriers.toml").write_text(
        "[MyPost]\n"
        'aliases = ["stamps_com", "my_post"]\n'
        "[MyPost.services]\n"
        'express = "Express 24"\n'
        "[UPS.services]\n"
        'ground = "UPS Ground"\n',
        encoding="utf-8",
    )
    table = CarrierTable.load()
    assert table.resolve("stamps_com", None) == SentCarrier("MyPost", None, True)
    assert table.resolve("my_post_express", None) == SentCarrier("MyPost", "Express 24", True)
    assert table.resolve("ups_ground", None) == SentCarrier("UPS", "UPS Ground", True)
    assert table.resolve("usps", None) == SentCarrier("USPS", None, True)  # the rest stays
    assert table.resolve("ups_next_day_air", None).method == "Next Day Air"


def test_an_extra_file_is_applied_last(config_dir: Path, tmp_path: Path) -> None:
    """`load(extra)` reads one more file after the user's own."""
    (config_dir / "carriers.toml").write_text('[A]\naliases = ["acme"]\n', encoding="utf-8")
    extra = tmp_path / "extra.toml"
    extra.write_text('[B]\naliases = ["acme"]\n', encoding="utf-8")
    assert CarrierTable.load().resolve("acme", None).carrier == "A"
    assert CarrierTable.load(extra).resolve("acme", None).carrier == "B"


def test_the_config_folder_is_the_per_user_one_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without BATCH_UPLOADER_CONFIG_DIR, the platform's per-user config folder is used."""
    monkeypatch.delenv(carriers.CONFIG_DIR_ENV, raising=False)
    assert carriers.user_config_dir().name == "batch-uploader"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[UPS\n", "cannot be read as TOML"),
        ('UPS = "x"\n', "[UPS] is not a table"),
        ('[UPS]\nalias = ["x"]\n', "[UPS] has unknown keys: alias"),
        ('[UPS]\naliases = "ups"\n', "[UPS] aliases must be a list of non-empty texts"),
        ("[UPS]\naliases = [1]\n", "[UPS] aliases must be a list of non-empty texts"),
        (
            "[UPS.services]\nground = 1\n",
            "[UPS] services must map texts to non-empty method names",
        ),
        (
            '[UPS.service_aliases]\nx = ""\n',
            "[UPS] service_aliases must map texts to non-empty method names",
        ),
    ],
)
def test_a_malformed_user_file_is_a_config_error_naming_it(
    config_dir: Path, text: str, problem: str
) -> None:
    """A broken carriers.toml stops the run (exit 2) with the file's path and what is wrong."""
    path = config_dir / "carriers.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        CarrierTable.load()
    assert str(caught.value).startswith(f"carriers file {path}: ")
    assert problem in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_missing_extra_file_is_a_config_error(config_dir: Path, tmp_path: Path) -> None:
    """An extra file that was named but does not exist is refused, naming it."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        CarrierTable.load(missing)


def test_the_bundled_table_is_well_formed(table: CarrierTable) -> None:
    """Every spelling of the bundled file maps to one carrier; carriers map to themselves."""
    for carrier in set(table.names.values()):
        assert table.resolve(carrier, None) == SentCarrier(carrier, None, False)
