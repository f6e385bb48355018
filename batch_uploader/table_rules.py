"""How one table is read, decided once per table, and said in words before anything is sent.

The column map says which header holds which field; the cell rules say how a whole column is
read (day/month order of its dates, a decimal comma in its costs). Both are guesses the tool
makes for the clerk, so both are printed before sending and written to the Summary sheet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from batch_uploader.carriers import CarrierTable
from batch_uploader.dates import DateOrder, DateOrderOption, OrderDecision, decide_order
from batch_uploader.models import SourceRow
from batch_uploader.parsing import decimal_comma_column
from batch_uploader.profiles import FIELD_LABELS, ColumnMap
from batch_uploader.validate import CellRules

ORDER_WORDS = {"mdy": "month first", "dmy": "day first"}


@dataclass(frozen=True)
class TableReading:
    """One table's mapping and cell rules, and the rows that were not data."""

    label: str
    columns: ColumnMap
    rules: CellRules
    date_decision: OrderDecision | None = None
    not_data: Counter[str] = field(default_factory=Counter)
    sent_carriers: Counter[tuple[str, str]] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """The mapping as a clerk reads it: format, `SKU ← "Item SKU"` per field, the rest."""
        columns = self.columns
        profile = columns.profile
        described = f" ({profile.description})" if profile.description else ""
        lines = [f"{self.label}: format {columns.format_name}{described}"]
        for name, index in columns.fields.items():
            how = columns.how.get(name, "")
            by = f"  [{how}]" if how and not how.startswith("profile") else ""
            lines.append(f'  {FIELD_LABELS[name]} ← "{columns.header[index]}"{by}')
        for name, index in (*columns.shipment_custom, *columns.item_custom):
            lines.append(f'  custom field {name} ← "{columns.header[index]}"')
        if columns.ignored:
            lines.append("  ignored: " + ", ".join(f'"{h}"' for h in columns.ignored))
        if self.date_decision is not None:
            order = ORDER_WORDS[self.date_decision.order]
            lines.append(f"  dates: {order} (decided by {self.date_decision.decided_by})")
        if self.rules.decimal_comma:
            lines.append("  costs: decimal comma (e.g. 4,50)")
        for (cell, sent), rows in self.sent_carriers.most_common():
            lines.append(f'  carrier "{cell}" is sent as {sent} ({rows} rows)')
        if self.not_data:
            kinds = ", ".join(f"{n} {kind}" for kind, n in self.not_data.most_common())
            lines.append(f"  not data, skipped: {kinds}")
        return lines


def read_rules(
    label: str,
    rows: Sequence[SourceRow],
    columns: ColumnMap,
    *,
    date_option: DateOrderOption,
    carriers: CarrierTable,
    today: date,
) -> tuple[CellRules, OrderDecision | None]:
    """Decide the day/month order of the ship-date columns and the cost columns' decimal mark."""
    decision = None
    if "shipped_at" in columns.fields:
        indexes = columns.columns.get("shipped_at", (columns.fields["shipped_at"],))
        header = columns.header[indexes[0]]
        decision = decide_order(
            (row.cells[i] for row in rows for i in indexes),
            column=f'{label}: column "{header}"',
            option=date_option,
            profile_order=_profile_order(columns.profile.date_order),
        )
    comma = False
    if "shipping_cost" in columns.fields:
        indexes = columns.columns.get("shipping_cost", (columns.fields["shipping_cost"],))
        comma = decimal_comma_column(row.cells[i] for row in rows for i in indexes)
    order: DateOrder = decision.order if decision else "mdy"
    return CellRules(order, comma, carriers, today), decision


def _profile_order(value: str | None) -> DateOrder | None:
    if value == "mdy":
        return "mdy"
    if value == "dmy":
        return "dmy"
    return None
