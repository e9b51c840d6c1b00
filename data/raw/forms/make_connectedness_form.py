"""Write connectedness.xlsx, the XLSForm of the community survey (KoboToolbox, ODK, Ona).

Standard library only (no spreadsheet package needed), with fixed zip timestamps, so the same
script always writes the same bytes: `python data/raw/forms/make_connectedness_form.py`.
The question set is documented in docs/privacy.md ("The community survey question set").
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
YES_NO = "select_one yes_no"

#: (type, name, label, hint, required, relevant)
SURVEY = [
    ("type", "name", "label", "hint", "required", "relevant"),
    ("note", "intro", "This survey is anonymous: do not write your name. Your answers are only "
     "published as neighbourhood totals, with random noise added so that no one can work out "
     "what you answered.", "", "", ""),
    ("geopoint", "location", "Where do you live? Tap the map near your block; you do not need to "
     "be exact.", "Only used to count answers per neighbourhood; never shown on a map.", "yes",
     ""),
    (YES_NO, "unmet_need", "In the past month, was there a time you needed help (food, a ride, "
     "medicine, childcare) and could not get it?", "", "yes", ""),
    (YES_NO, "keys_with_neighbour", "If you went away for a few days, is there a neighbour you "
     "would leave your keys with?", "", "", ""),
    ("select_one agree5", "knows_neighbours", "I know enough of my neighbours that I could ask "
     "one of them for a favour.", "", "", ""),
    (YES_NO, "helped_neighbour", "In the past month, did you help a neighbour with an everyday "
     "task, such as groceries for an older neighbour, an errand, a ride or childcare?", "", "",
     ""),
    (YES_NO, "helped_by_neighbour", "In the past month, did a neighbour help you with an "
     "everyday task?", "", "", ""),
    (YES_NO, "community_group", "In the past 12 months, did you take part in a tenants' "
     "association, block club, mutual aid group, faith group or community meeting?", "", "",
     ""),
    ("text", "story", "Anything you want to tell us about getting or giving help where you live? "
     "(optional)", "Please do not name anyone.", "", ""),
    (YES_NO, "consent_to_share", "May we share what you wrote, without your name, on the "
     "neighbourhood map?", "", "", "${story} != ''"),
]
CHOICES = [
    ("list_name", "name", "label"),
    ("yes_no", "yes", "Yes"),
    ("yes_no", "no", "No"),
    ("agree5", "1", "Strongly disagree"),
    ("agree5", "2", "Disagree"),
    ("agree5", "3", "Neither agree nor disagree"),
    ("agree5", "4", "Agree"),
    ("agree5", "5", "Strongly agree"),
]
SETTINGS = [
    ("form_title", "form_id", "version", "default_language"),
    ("Community connections and needs", "community_connections", "2026120101", "English (en)"),
]
SHEETS = {"survey": SURVEY, "choices": CHOICES, "settings": SETTINGS}


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: list[tuple[str, ...]], strings: dict[str, int]) -> str:
    cells = []
    for r, row in enumerate(rows, start=1):
        values = "".join(
            f'<c r="{column_letter(c)}{r}" t="s"><v>{strings.setdefault(v, len(strings))}</v></c>'
            for c, v in enumerate(row) if v != "")
        cells.append(f'<row r="{r}">{values}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{"".join(cells)}</sheetData></worksheet>')


def write_xlsx(path: Path, sheets: dict[str, list[tuple[str, ...]]]) -> None:
    """A minimal Office Open XML workbook (shared strings), one sheet per entry."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    strings: dict[str, int] = {}
    parts = {f"xl/worksheets/sheet{i}.xml": sheet_xml(rows, strings)
             for i, rows in enumerate(sheets.values(), start=1)}
    shared = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    count = len(strings)
    parts["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{main}" '
        f'count="{count}" uniqueCount="{count}">{shared}</sst>')
    sheet_entries = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                            for i, name in enumerate(sheets, start=1))
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{main}" '
        f'xmlns:r="{rel}"><sheets>{sheet_entries}</sheets></workbook>')
    n = len(sheets)
    links = "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" '
                    f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
    links += (f'<Relationship Id="rId{n + 1}" Type="{rel}/sharedStrings" '
              'Target="sharedStrings.xml"/>')
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        f'xmlns="{pkg}">{links}</Relationships>')
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{pkg}">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>')
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                        f'ContentType="{ct}.worksheet+xml"/>' for i in range(1, n + 1))
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
        '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        f'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        f'{ct}.sheet.main+xml"/>{overrides}<Override PartName="/xl/sharedStrings.xml" '
        f'ContentType="{ct}.sharedStrings+xml"/></Types>')
    order = ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
             "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
             *[f"xl/worksheets/sheet{i}.xml" for i in range(1, n + 1)]]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=(2026, 12, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, parts[name])


if __name__ == "__main__":
    write_xlsx(HERE / "connectedness.xlsx", SHEETS)
    print(HERE / "connectedness.xlsx")
