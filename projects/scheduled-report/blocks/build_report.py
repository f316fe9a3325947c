def main(rows, backpack):
    total = sum(row["sales"] for row in rows)
    best = max(rows, key=lambda row: row["sales"])["region"] if rows else None
    return {"report": backpack.get("report"), "total": total, "best_region": best, "rows": rows}
