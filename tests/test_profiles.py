"""profiles.py: column-mapping profiles, loading them, and detecting one from a header row."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_uploader.column_choice import choose_columns, header_score
from batch_uploader.errors import ConfigError, InputError
from batch_uploader.profiles import (
    FIELD_LABELS,
    Profile,
    bundled_profiles,
    load_profile,
    normalize_header,
    resolve_profile,
)

BUNDLED = [
    "canonical",
    "amazon-ship-confirm",
    "ebay-orders",
    "fedex-ship-manager",
    "shipstation",
    "shopify-matrixify",
    "shopify-orders",
    "supplier-tracking",
    "tiktok-shop",
    "ups-worldship",
    "woocommerce-ast",
]
REFUSED = {"shopify-orders"}  # formats without tracking numbers: recognised, then refused


def write_profile(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def bundled(name: str) -> Profile:
    return next(p for p in bundled_profiles() if p.name == name)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("PO #", "po"),
        ("Tracking No.", "trackingno"),
        ("  SHIP-DATE ", "shipdate"),
        ("Fulfillment: Tracking Number", "fulfillmenttrackingnumber"),
        ("order-id", "orderid"),
        ("Qty_Shipped", "qtyshipped"),
    ],
)
def test_normalize_header_ignores_case_spaces_and_punctuation(header: str, expected: str) -> None:
    """Header names compare without case, spaces or punctuation."""
    assert normalize_header(header) == expected


def test_bundled_profiles_are_listed_canonical_first() -> None:
    """The shipped profiles are all found, canonical first and the rest by name."""
    assert [p.name for p in bundled_profiles()] == BUNDLED


@pytest.mark.parametrize("name", sorted(set(BUNDLED) - REFUSED))
def test_each_bundled_profile_is_detected_from_its_own_header(name: str) -> None:
    """A header of a profile's first aliases is usable and picks that profile, no tie."""
    profile = bundled(name)
    header = [names[0] for names in profile.aliases.values()]
    header += [h for h in profile.detect if h not in header]
    chosen = choose_columns(header, "export.csv", bundled_profiles(), forced=False)
    assert chosen.profile.name == name
    assert chosen.missing() == []


def test_load_profile_reads_name_description_and_aliases(tmp_path: Path) -> None:
    """A profile file maps fields to one header name or a list of them."""
    path = write_profile(
        tmp_path / "mine.toml",
        'name = "warehouse"\n'
        'description = "our WMS export"\n'
        "[columns]\n"
        'po_number = "Order Ref"\n'
        'tracking_number = ["Tracking", "Track #"]\n',
    )
    profile = load_profile(path)
    assert profile == Profile(
        name="warehouse",
        description="our WMS export",
        aliases={"po_number": ("Order Ref",), "tracking_number": ("Tracking", "Track #")},
        path=path,
    )


def test_load_profile_names_it_after_the_file_by_default(tmp_path: Path) -> None:
    """Without `name`, the profile is named after its file; description defaults to empty."""
    path = write_profile(tmp_path / "acme-export.toml", '[columns]\nsku = "Part"\n')
    profile = load_profile(path)
    assert (profile.name, profile.description) == ("acme-export", "")


def test_load_profile_refuses_malformed_toml(tmp_path: Path) -> None:
    """A file that is not TOML is a ConfigError naming the file."""
    path = write_profile(tmp_path / "bad.toml", "[columns\nsku = 'x'\n")
    with pytest.raises(ConfigError, match=r"^profile .*bad\.toml: cannot be read as TOML: "):
        load_profile(path)


def test_load_profile_refuses_a_missing_file(tmp_path: Path) -> None:
    """An unreadable file is a ConfigError naming the file."""
    path = tmp_path / "gone.toml"
    with pytest.raises(ConfigError, match=r"^profile .*gone\.toml: cannot be read as TOML: "):
        load_profile(path)


@pytest.mark.parametrize(
    "text", ['name = "x"\n', "columns = 3\n", "[columns]\n"], ids=["absent", "not-table", "empty"]
)
def test_load_profile_requires_a_columns_table(tmp_path: Path, text: str) -> None:
    """A profile without a non-empty [columns] table is refused."""
    path = write_profile(tmp_path / "p.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"profile {path}: needs a [columns] table mapping fields to header names"
    )


def test_load_profile_refuses_an_unknown_field_and_lists_the_known_ones(tmp_path: Path) -> None:
    """A typo in a field name is refused with the list of field names that exist."""
    path = write_profile(tmp_path / "p.toml", '[columns]\ntraking_number = "Tracking"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"profile {path}: unknown column field 'traking_number'; known fields: "
        "po_number, source_id, fulfillment_request_id, tracking_number, carrier, method, "
        "shipped_at, shipping_cost, tracking_url, note, suppressed, sku, quantity, "
        "purchase_order_item_id, order_item_id, inventory_variant_id, rma_item_id, void, "
        "master_tracking_number"
    )


@pytest.mark.parametrize("value", ["3", '["Tracking", 4]', '""', '["Tracking", ""]'])
def test_load_profile_refuses_header_names_that_are_not_text(tmp_path: Path, value: str) -> None:
    """Each field must name one or more non-empty header names."""
    path = write_profile(tmp_path / "p.toml", f"[columns]\ntracking_number = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value) == (
        f"profile {path}: tracking_number must be a header name or a list of header names"
    )


def test_load_profile_refuses_a_name_that_is_not_text(tmp_path: Path) -> None:
    """`name` and `description` must be strings."""
    path = write_profile(tmp_path / "p.toml", 'name = 5\n[columns]\nsku = "SKU"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value) == f"profile {path}: name and description must be text"


def test_resolve_profile_finds_a_bundled_profile_by_name() -> None:
    """`--profile shipstation` picks the bundled ShipStation profile."""
    profile = resolve_profile("shipstation")
    assert profile.name == "shipstation"
    assert profile.aliases["po_number"] == ("Order - Number",)


def test_resolve_profile_loads_a_users_file(tmp_path: Path) -> None:
    """`--profile FILE.toml` loads the user's own profile."""
    path = write_profile(tmp_path / "mine.toml", '[columns]\nsku = "Part"\n')
    profile = resolve_profile(str(path))
    assert (profile.name, profile.aliases, profile.path) == ("mine", {"sku": ("Part",)}, path)


def test_resolve_profile_loads_an_existing_file_without_toml_suffix(tmp_path: Path) -> None:
    """An existing file is loaded as a profile whatever its suffix."""
    path = write_profile(tmp_path / "mapping.cfg", '[columns]\nsku = "Part"\n')
    assert resolve_profile(str(path)).name == "mapping"


def test_resolve_profile_refuses_a_missing_toml_file(tmp_path: Path) -> None:
    """A .toml path that does not exist says so."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        resolve_profile(str(path))
    assert str(caught.value) == f"profile file {path} does not exist"


def test_resolve_profile_refuses_an_unknown_name_and_lists_the_bundled_ones() -> None:
    """An unknown profile name lists the names that exist."""
    with pytest.raises(ConfigError) as caught:
        resolve_profile("shopify")
    assert str(caught.value) == (
        "unknown profile 'shopify'; choose one of: canonical, amazon-ship-confirm, ebay-orders, "
        "fedex-ship-manager, shipstation, shopify-matrixify, shopify-orders, supplier-tracking, "
        "tiktok-shop, ups-worldship, woocommerce-ast, or give a .toml file"
    )


def test_choose_columns_matches_aliases_loosely() -> None:
    """`PO #`, `Tracking No.`, `qty` and `sku` are the canonical columns, at their positions."""
    header = ["Notes", "PO #", "Tracking No.", "sku", "QTY", "Ship Date", "Cost"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.profile.name == "canonical"
    assert chosen.fields == {
        "note": 0,
        "po_number": 1,
        "tracking_number": 2,
        "sku": 3,
        "quantity": 4,
        "shipped_at": 5,
        "shipping_cost": 6,
    }


def test_choose_columns_maps_po_id_to_the_fulfillment_request_id() -> None:
    """`PO ID` is an alias of Fulfillment Request ID, distinct from PO Number and PO Item ID."""
    header = ["PO ID", "Tracking Number", "PO Item ID", "Qty"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.fields == {
        "fulfillment_request_id": 0,
        "tracking_number": 1,
        "purchase_order_item_id": 2,
        "quantity": 3,
    }


def test_choose_columns_uses_the_first_of_two_columns_for_one_field() -> None:
    """When two columns name the same field, the leftmost one is used."""
    header = ["PO Number", "PO #", "Tracking Number", "SKU", "Quantity"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.fields["po_number"] == 0


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (["order-id", "tracking-number", "sku", "quantity-shipped"], "amazon-ship-confirm"),
        (
            ["Order - Number", "Shipment - Tracking Number", "Item - SKU", "Item - Qty"],
            "shipstation",
        ),
        (
            ["Name", "Fulfillment: Tracking Number", "Line: SKU", "Line: Quantity", "Note"],
            "shopify-matrixify",
        ),
        (["Order #", "Tracking", "Item Number", "Qty Shipped", "Carrier"], "supplier-tracking"),
    ],
)
def test_choose_columns_detects_the_export_format(header: list[str], name: str) -> None:
    """The usable profile recognising the most columns wins."""
    assert choose_columns(header, "f.csv", bundled_profiles(), forced=False).profile.name == name


def test_choose_columns_reads_custom_field_columns() -> None:
    """`Custom: NAME` columns are shipment custom fields, `Item Custom: NAME` item ones."""
    header = [
        "PO Number",
        "Custom: Gift Note",
        "Tracking Number",
        "item custom : Color ",
        "SKU",
        "CUSTOM:Dept",
        "Quantity",
        "ItemCustom: Size",
        "Customer PO",
    ]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.shipment_custom == (("Gift Note", 1), ("Dept", 5))
    assert chosen.item_custom == (("Color", 3), ("Size", 7))
    assert chosen.recognised == 8  # four fields + four custom columns; "Customer PO" is not one


def test_choose_columns_refuses_a_tie() -> None:
    """Two usable profiles recognising equally many columns are refused, never guessed."""
    header = [
        "PO Number",
        "Tracking Number",
        "SKU",
        "Qty",
        "Order Number",
        "Tracking",
        "Item Number",
        "Qty Shipped",
    ]
    with pytest.raises(InputError) as caught:
        choose_columns(header, "orders.csv", bundled_profiles(), forced=False)
    assert str(caught.value) == (
        "orders.csv: the header matches several profiles equally (canonical, supplier-tracking); "
        "choose one with --profile NAME"
    )


def test_choose_columns_ignores_unusable_profiles_when_counting() -> None:
    """A profile that recognises more columns but misses a required one does not win or tie."""
    # canonical recognises 6 columns but has no tracking number; supplier-tracking 5, all it needs
    header = ["PO Number", "Qty", "SKU", "Carrier", "Note", "Method"]
    header += ["Order #", "Tracking Code", "Item Number", "Qty Shipped"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.profile.name == "supplier-tracking"


def test_choose_columns_names_the_missing_required_column() -> None:
    """Only the missing required field is named (no profile), with how to name it."""
    header = ["PO Number", "SKU", "Qty"]
    with pytest.raises(InputError) as caught:
        choose_columns(header, "orders.csv", bundled_profiles(), forced=False)
    assert str(caught.value) == (
        "orders.csv: required column missing: Tracking Number. "
        "Name it with --map tracking_number=HEADER."
    )


def test_choose_columns_names_every_missing_required_column() -> None:
    """A header nothing recognises names both required fields: tracking number and PO."""
    with pytest.raises(InputError) as caught:
        choose_columns(["foo", "bar"], "orders.csv", bundled_profiles(), forced=False)
    assert str(caught.value) == (
        "orders.csv: required column missing: Tracking Number; "
        "PO Number or Fulfillment Request ID. "
        "Name it with --map tracking_number=HEADER and --map po_number=HEADER."
    )


def test_choose_columns_with_a_forced_profile_uses_it_even_if_another_fits_better() -> None:
    """`--profile` is obeyed: its map is returned when its required columns are present."""
    header = ["PO Number", "Tracking Number", "SKU", "Qty", "Order #", "Tracking", "Item #"]
    header += ["Qty Shipped"]
    chosen = choose_columns(header, "f.csv", [bundled("supplier-tracking")], forced=True)
    assert chosen.profile.name == "supplier-tracking"
    assert chosen.fields == {"po_number": 4, "tracking_number": 5, "sku": 6, "quantity": 7}


def test_choose_columns_with_a_forced_profile_suggests_the_closest_headers() -> None:
    """A forced profile's missing field is named with the file's closest headers."""
    header = ["tracking-number", "sku", "quantity", "order-ref"]
    with pytest.raises(InputError) as caught:
        choose_columns(header, "amazon.txt", [bundled("amazon-ship-confirm")], forced=True)
    assert str(caught.value) == (
        "amazon.txt: required column missing: PO Number or Fulfillment Request ID (did you "
        'mean "order-ref"?). Name it with --map po_number=HEADER.'
    )


def test_header_score_is_the_most_columns_any_profile_recognises() -> None:
    """A row's header-likeness is the best profile's count of recognised columns (the integer
    part; the fraction only breaks ties) and 0 for a data row."""
    score = header_score(bundled_profiles())
    assert int(score(["PO Number", "Tracking Number", "junk", "Custom: Gift"])) == 3
    assert score(["1001", "1Z999AA10123456784", "2"]) == 0.0


def test_header_score_prefers_the_row_spelled_as_the_profile_writes_it() -> None:
    """Amazon's label row ("Order ID") loses to its real header row ("order-id")."""
    score = header_score(bundled_profiles())
    labels = ["Order ID", "Order Item ID", "Quantity", "Ship Date", "Carrier Code"]
    labels += ["Tracking Number"]
    real = ["order-id", "order-item-id", "quantity", "ship-date", "carrier-code"]
    real += ["tracking-number"]
    assert score(real) > score(labels)


def test_header_score_finds_a_header_no_profile_knows() -> None:
    """Headers recognised only by their words still score above a title line."""
    score = header_score(bundled_profiles())
    assert score(["Item SKU", "Qty Shipped", "Order ID", "Trk #"]) > 0
    assert score(["ACME Supply Co. - shipment confirmation", "", ""]) == 0.0


def test_user_profile_maps_its_own_header_names(tmp_path: Path) -> None:
    """A user's TOML profile maps their export's header, custom fields included."""
    path = write_profile(
        tmp_path / "wms.toml",
        "[columns]\n"
        'po_number = ["Order Ref"]\n'
        'tracking_number = ["Track"]\n'
        'sku = ["Part No"]\n'
        'quantity = ["Units"]\n',
    )
    profile = resolve_profile(str(path))
    header = ["Units", "Part No.", "TRACK", "order ref", "Custom: Bin"]
    chosen = choose_columns(header, "wms.csv", [profile], forced=True)
    assert chosen.fields == {"quantity": 0, "sku": 1, "tracking_number": 2, "po_number": 3}
    assert chosen.shipment_custom == (("Bin", 4),)


def test_user_profile_with_non_latin_header_names_maps_each_column(tmp_path: Path) -> None:
    """Header names in other scripts are letters, not punctuation: each maps to its own column."""
    path = write_profile(
        tmp_path / "cn.toml",
        "[columns]\n"
        'po_number = ["订单号"]\n'
        'tracking_number = ["运单号"]\n'
        'sku = ["货号"]\n'
        'quantity = ["数量"]\n',
    )
    header = ["订单号", "运单号", "货号", "数量", ""]
    chosen = choose_columns(header, "cn.csv", [load_profile(path)], forced=True)
    assert chosen.fields == {"po_number": 0, "tracking_number": 1, "sku": 2, "quantity": 3}


def test_canonical_profile_maps_every_field() -> None:
    """The canonical profile (the template's own columns) maps every field there is."""
    canonical = bundled("canonical")
    assert set(canonical.aliases) == set(FIELD_LABELS)


def test_load_profile_reads_the_format_keys(tmp_path: Path) -> None:
    """source, date_order, [detect], refuse, ignore and [rows] are read onto the Profile."""
    path = write_profile(
        tmp_path / "fmt.toml",
        'source = "vendor manual p. 12"\n'
        'date_order = "dmy"\n'
        'refuse = "no tracking here"\n'
        'ignore = ["Line ID"]\n'
        "[detect]\n"
        'headers = ["Ref", "Line Kind"]\n'
        "[rows]\n"
        'type_column = "Line Kind"\n'
        'keep = ["Item"]\n'
        "[columns]\n"
        'po_number = "Ref"\n',
    )
    profile = load_profile(path)
    assert (profile.source, profile.date_order, profile.refuse) == (
        "vendor manual p. 12",
        "dmy",
        "no tracking here",
    )
    assert (profile.detect, profile.ignore) == (("Ref", "Line Kind"), ("Line ID",))
    assert (profile.row_type_column, profile.row_types_kept) == ("Line Kind", ("Item",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('date_order = "ymd"\n', "date_order must be one of mdy, dmy"),
        ('refuse = "x"\n', "refuse needs [detect] headers naming the format it refuses"),
        ('[rows]\ntype_column = "Kind"\n', "[rows] type_column needs keep = [row types that"),
        ("[detect]\nheaders = 3\n", "headers must be a header name or a list of header names"),
        ("source = 3\n", "source must be text"),
    ],
)
def test_load_profile_refuses_bad_format_keys(tmp_path: Path, text: str, message: str) -> None:
    """Each new key is checked and a mistake named."""
    path = write_profile(tmp_path / "p.toml", text + '[columns]\npo_number = "Ref"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"profile {path}: {message}")


def test_every_bundled_profile_loads_with_a_source() -> None:
    """Each shipped format says which published layout it was checked against."""
    for profile in bundled_profiles():
        assert profile.name == "canonical" or profile.source


def test_detect_headers_keep_a_profile_from_claiming_a_file_by_one_word() -> None:
    """A sheet with a `Name` column is not Matrixify; a TikTok `Order ID` is not Amazon's."""
    header = ["Customer PO", "Name", "Tracking #", "Item #", "Qty Shipped"]
    assert choose_columns(header, "f.csv", bundled_profiles(), False).format_name == (
        "supplier-tracking"
    )
    header = ["Order ID", "Tracking ID", "Seller SKU", "Quantity"]
    assert choose_columns(header, "f.csv", bundled_profiles(), False).format_name == ("tiktok-shop")


def test_a_named_format_fills_unmapped_fields_by_words() -> None:
    """The profile wins where it applies; fields it does not map are found by their words."""
    header = ["Order - Number", "Shipment - Tracking Number", "Item - SKU", "Item - Qty"]
    header += ["Tracking Page", "Ship Notes"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.format_name == "shipstation"
    assert chosen.how["po_number"] == "profile shipstation"
    assert (chosen.fields["tracking_url"], chosen.how["tracking_url"]) == (4, "words")
    assert (chosen.fields["note"], chosen.how["note"]) == (5, "words")


def test_canonical_columns_say_exact_or_alias() -> None:
    """The contract's own names are `exact`, its other spellings `alias`."""
    header = ["PO Number", "Tracking #", "Qty Shipped"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.format_name == "canonical"
    assert chosen.how == {"po_number": "exact", "tracking_number": "alias", "quantity": "words"}


def test_map_overrides_win_over_everything() -> None:
    """`--map FIELD=HEADER` maps that column, taking it from any other field."""
    header = ["PO Number", "Tracking Number", "Ref", "Item"]
    overrides = {"po_number": "Ref", "sku": "item"}
    chosen = choose_columns(header, "f.csv", bundled_profiles(), False, overrides)
    assert chosen.fields == {"po_number": 2, "tracking_number": 1, "sku": 3}
    assert chosen.how["po_number"] == "--map"
    assert chosen.ignored == ("PO Number",)


def test_map_override_makes_a_refused_format_usable() -> None:
    """Naming a tracking column with --map lifts a no-tracking refusal."""
    header = ["Name", "Financial Status", "Fulfillment Status", "Lineitem sku", "Notes"]
    with pytest.raises(InputError, match="no tracking numbers"):
        choose_columns(header, "f.csv", bundled_profiles(), False)
    chosen = choose_columns(
        header, "f.csv", bundled_profiles(), False, {"tracking_number": "Notes"}
    )
    assert chosen.fields["tracking_number"] == 4


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"traking": "Ref"}, "--map traking=Ref: unknown field 'traking'; choose one of: "),
        ({"sku": "Part"}, '--map sku=Part: the file has no column "Part"; its columns: '),
    ],
)
def test_map_override_refuses_unknown_fields_and_headers(
    overrides: dict[str, str], message: str
) -> None:
    """A wrong field or a header the file does not have is a ConfigError listing the choices."""
    header = ["PO Number", "Tracking Number", "Ref"]
    with pytest.raises(ConfigError) as caught:
        choose_columns(header, "f.csv", bundled_profiles(), False, overrides)
    assert str(caught.value).startswith(message)


def test_two_equal_headers_for_one_field_are_refused_naming_both() -> None:
    """A true tie between two headers stops the run and names both."""
    header = ["PO Number", "Tracking Number", "Item SKU", "Vendor SKU"]
    with pytest.raises(InputError) as caught:
        choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert str(caught.value) == (
        'f.csv: two columns could be the SKU: "Item SKU" and "Vendor SKU"; '
        "choose one with --map sku=HEADER"
    )


def test_ignored_lists_the_headers_mapped_to_nothing() -> None:
    """Columns no field uses are listed, in file order, blank headers left out."""
    header = ["PO Number", "Ship To Name", "Tracking Number", "", "Order Total"]
    chosen = choose_columns(header, "f.csv", bundled_profiles(), forced=False)
    assert chosen.ignored == ("Ship To Name", "Order Total")
