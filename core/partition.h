/*
 * partition.h: month range partitioning of the large tables (DESIGN §5).
 *
 * A partitioned table ("orders", "order_items", "price_history",
 * "stock_events") is a family of physical tables <base>_pYYYYMM, created on
 * first write from the DDL template in partition_templates and listed in the
 * partitions catalog. Writes route a timestamp to its month's table; reads ask
 * for the months that exist within a time range (pruning) and query only those
 * tables. This is Postgres declarative range partitioning done by hand; see
 * docs/production.md for the mapping.
 *
 * Every process keeps a small cache of the partitions it knows exist, so the
 * routing costs one array probe per row after the first row of a month.
 */
#ifndef CORE_PARTITION_H
#define CORE_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

#define PARTITION_NAME_MAX 48 /* "order_items_p202503" and room to spare */

/* "orders_p202503" for (base, month) into out. */
void partition_name(const char *base, int yyyymm, char out[PARTITION_NAME_MAX]);

/*
 * Make sure <base>_p<month of epoch_s> exists, creating it (table, indexes,
 * catalog row) if needed. Must be called inside a write transaction
 * (db_begin), so creation commits or rolls back with the rows that needed it.
 * OUT name: the physical table name.
 */
int partition_ensure(struct db *db, const char *base, int64_t epoch_s,
                     char name[PARTITION_NAME_MAX], struct error *err);

/*
 * The months (YYYYMM, ascending) of existing partitions of base that overlap
 * [from_s, to_s) (use INT64_MIN/INT64_MAX for open ends). Writes at most cap
 * months into out and the total count into *n (which may exceed cap).
 */
int partition_months(struct db *db, const char *base, int64_t from_s, int64_t to_s, int *out,
                     size_t cap, size_t *n, struct error *err);

/*
 * The text of fmt with its one %s replaced by the partition table name,
 * interned for the life of the process: db_stmt() caches statements by the
 * address of their SQL, so a per-partition statement needs a text that never
 * moves. One copy per (fmt, table) pair; NULL past PARTITION_SQL_MAX pairs.
 */
#define PARTITION_SQL_MAX 4096
const char *partition_sql(const char *fmt, const char *table);

/* Forget cached knowledge (tests that recreate databases in one process). */
void partition_cache_reset(void);

#endif
