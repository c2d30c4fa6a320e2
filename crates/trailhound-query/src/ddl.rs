//! Table definitions over the lake for other engines, so that a team that outgrows one
//! machine points Athena, Trino, Spark or DuckDB at the same files instead of copying them.

use arrow::datatypes::{DataType, Field};
use trailhound_lake::{PARTITION_COLUMNS, file_schema};

/// An engine to write a table definition for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Amazon Athena (Hive DDL).
    Athena,
    /// Trino with the Hive connector.
    Trino,
    /// Apache Spark SQL.
    Spark,
    /// DuckDB.
    DuckDb,
}

/// The definition of a table named `table` over the lake's `events` folder at `location`
/// (a local path, or `s3://…/lake/events` where the lake was copied to or written on S3).
pub fn ddl(engine: Engine, table: &str, location: &str) -> String {
    let location = location.trim_end_matches('/');
    let schema = file_schema();
    match engine {
        Engine::Athena | Engine::Spark => {
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("  `{}` {}", f.name(), hive_type(f.data_type())))
                .collect();
            let partitions: Vec<String> = PARTITION_COLUMNS
                .iter()
                .map(|p| format!("`{p}` string"))
                .collect();
            let head = match engine {
                Engine::Athena => format!("CREATE EXTERNAL TABLE IF NOT EXISTS `{table}` ("),
                _ => format!("CREATE TABLE IF NOT EXISTS `{table}` ("),
            };
            let storage = match engine {
                Engine::Athena => format!("STORED AS PARQUET\nLOCATION '{location}/'"),
                _ => format!("USING PARQUET\nLOCATION '{location}/'"),
            };
            let partitioned = match engine {
                Engine::Athena => format!("PARTITIONED BY ({})", partitions.join(", ")),
                _ => {
                    // Spark declares partition columns in the column list and names them.
                    format!(
                        "PARTITIONED BY ({})",
                        PARTITION_COLUMNS.map(|p| format!("`{p}`")).join(", ")
                    )
                }
            };
            let mut columns = columns;
            if engine == Engine::Spark {
                columns.extend(PARTITION_COLUMNS.iter().map(|p| format!("  `{p}` string")));
            }
            format!(
                "{head}\n{}\n)\n{partitioned}\n{storage};\n\n-- Register the partitions that exist now (re-run after ingests add days):\nMSCK REPAIR TABLE `{table}`;\n",
                columns.join(",\n")
            )
        }
        Engine::Trino => {
            let mut columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("  \"{}\" {}", f.name(), trino_type(f.data_type())))
                .collect();
            columns.extend(
                PARTITION_COLUMNS
                    .iter()
                    .map(|p| format!("  \"{p}\" varchar")),
            );
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)\nWITH (\n  format = 'PARQUET',\n  external_location = '{location}/',\n  partitioned_by = ARRAY[{}]\n);\n\n-- Register the partitions that exist now (re-run after ingests add days):\nCALL system.sync_partition_metadata(CURRENT_SCHEMA, '{table}', 'ADD');\n",
                columns.join(",\n"),
                PARTITION_COLUMNS.map(|p| format!("'{p}'")).join(", ")
            )
        }
        Engine::DuckDb => format!(
            "CREATE OR REPLACE VIEW {table} AS\nSELECT * FROM read_parquet('{location}/**/*.parquet', hive_partitioning = true, hive_types = {{'account': VARCHAR, 'region': VARCHAR, 'date': VARCHAR}});\n"
        ),
    }
}

fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 => "string".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Timestamp(..) => "timestamp".to_owned(),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f: &std::sync::Arc<Field>| format!(
                    "{}:{}",
                    f.name(),
                    hive_type(f.data_type())
                ))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string().to_lowercase(),
    }
}

fn trino_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 => "varchar".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Timestamp(..) => "timestamp".to_owned(),
        DataType::Struct(fields) => format!(
            "row({})",
            fields
                .iter()
                .map(|f| format!("\"{}\" {}", f.name(), trino_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_names_every_column_and_the_location() {
        for engine in [Engine::Athena, Engine::Trino, Engine::Spark] {
            let text = ddl(engine, "cloudtrail", "s3://bucket/lake/events");
            for field in file_schema().fields() {
                assert!(
                    text.contains(field.name().as_str()),
                    "{engine:?} lacks {}",
                    field.name()
                );
            }
            assert!(text.contains("s3://bucket/lake/events/"), "{engine:?}");
            assert!(
                text.contains("account") && text.contains("date"),
                "{engine:?}"
            );
        }
        let athena = ddl(Engine::Athena, "cloudtrail", "s3://b/e");
        assert!(
            athena.contains("`userIdentity` struct<type:string,principalId:string,"),
            "{athena}"
        );
        assert!(athena.contains("`eventTime` timestamp"));
        let duck = ddl(Engine::DuckDb, "events", "/data/lake/events/");
        assert!(
            duck.contains(
                "read_parquet('/data/lake/events/**/*.parquet', hive_partitioning = true"
            ),
            "{duck}"
        );
    }
}
