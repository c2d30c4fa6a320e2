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

/// The partitions a lake holds, for engines that are told them instead of listing the
/// folders (Athena's partition projection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownPartitions {
    /// Accounts, sorted.
    pub accounts: Vec<String>,
    /// Regions, sorted.
    pub regions: Vec<String>,
    /// The first day (`YYYY-MM-DD`).
    pub first_date: Option<String>,
}

/// The definition of a table named `table` over the lake's `events` folder at `location`
/// (a local path, or `s3://…/events` where the lake was copied to or written on S3). For
/// Athena, `known` partitions become partition projection, so no `MSCK REPAIR` is needed.
pub fn ddl(engine: Engine, table: &str, location: &str, known: &KnownPartitions) -> String {
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
            // Spark's grammar wants the provider (USING) before the other clauses; Hive's
            // wants PARTITIONED BY before STORED AS.
            let clauses = match engine {
                Engine::Spark => {
                    let (using, location) = storage.split_once('\n').unwrap_or((&storage, ""));
                    format!("{using}\n{partitioned}\n{location}")
                }
                _ => format!("{partitioned}\n{storage}"),
            };
            let columns = columns.join(",\n");
            match (engine, projection(location, known)) {
                (Engine::Athena, Some(properties)) => format!(
                    "{head}\n{columns}\n)\n{clauses}\n{properties};\n\n-- Partition projection: no MSCK REPAIR needed, new days are found as they come. An account\n-- or region added later needs this table created again (or ALTER TABLE … SET TBLPROPERTIES).\n"
                ),
                _ => format!(
                    "{head}\n{columns}\n)\n{clauses};\n\n-- Register the partitions that exist now (re-run after ingests add days):\nMSCK REPAIR TABLE `{table}`;\n"
                ),
            }
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
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)\nWITH (\n  format = 'PARQUET',\n  external_location = '{location}/',\n  partitioned_by = ARRAY[{}]\n);\n\n-- Register the partitions that exist now (re-run after ingests add days):\n-- (name the table's schema if it is not 'default')\nCALL system.sync_partition_metadata('default', '{table}', 'ADD');\n",
                columns.join(",\n"),
                PARTITION_COLUMNS.map(|p| format!("'{p}'")).join(", ")
            )
        }
        Engine::DuckDb => format!(
            "CREATE OR REPLACE VIEW {table} AS\nSELECT * FROM read_parquet('{location}/**/*.parquet', hive_partitioning = true, hive_types = {{'account': VARCHAR, 'region': VARCHAR, 'date': VARCHAR}});\n"
        ),
    }
}

/// Athena's partition projection over the lake's layout, when its accounts and regions are
/// known: accounts and regions as enums, days as dates from the first one to now.
fn projection(location: &str, known: &KnownPartitions) -> Option<String> {
    if known.accounts.is_empty() || known.regions.is_empty() {
        return None;
    }
    let first = known.first_date.as_deref().unwrap_or("2013-11-01");
    let properties = [
        ("projection.enabled", "true".to_owned()),
        ("projection.account.type", "enum".to_owned()),
        ("projection.account.values", known.accounts.join(",")),
        ("projection.region.type", "enum".to_owned()),
        ("projection.region.values", known.regions.join(",")),
        ("projection.date.type", "date".to_owned()),
        ("projection.date.format", "yyyy-MM-dd".to_owned()),
        ("projection.date.range", format!("{first},NOW")),
        ("projection.date.interval", "1".to_owned()),
        ("projection.date.interval.unit", "DAYS".to_owned()),
        (
            "storage.location.template",
            format!("{location}/account=${{account}}/region=${{region}}/date=${{date}}/"),
        ),
    ];
    let lines: Vec<String> = properties
        .iter()
        .map(|(name, value)| format!("  '{name}' = '{value}'"))
        .collect();
    Some(format!("TBLPROPERTIES (\n{}\n)", lines.join(",\n")))
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
            let text = ddl(
                engine,
                "cloudtrail",
                "s3://bucket/lake/events",
                &KnownPartitions::default(),
            );
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
        let athena = ddl(
            Engine::Athena,
            "cloudtrail",
            "s3://b/e",
            &KnownPartitions::default(),
        );
        assert!(
            athena.contains("`userIdentity` struct<type:string,principalId:string,"),
            "{athena}"
        );
        assert!(athena.contains("`eventTime` timestamp"));
        let duck = ddl(
            Engine::DuckDb,
            "events",
            "/data/lake/events/",
            &KnownPartitions::default(),
        );
        assert!(
            duck.contains(
                "read_parquet('/data/lake/events/**/*.parquet', hive_partitioning = true"
            ),
            "{duck}"
        );
    }

    #[test]
    fn athena_projects_the_known_partitions_and_spark_puts_using_first() {
        let known = KnownPartitions {
            accounts: vec!["111122223333".into(), "444455556666".into()],
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            first_date: Some("2024-07-01".into()),
        };
        let athena = ddl(Engine::Athena, "cloudtrail", "s3://b/lake/events/", &known);
        for property in [
            "'projection.enabled' = 'true'",
            "'projection.account.values' = '111122223333,444455556666'",
            "'projection.region.values' = 'eu-west-1,us-east-1'",
            "'projection.date.range' = '2024-07-01,NOW'",
            "'storage.location.template' = 's3://b/lake/events/account=${account}/region=${region}/date=${date}/'",
        ] {
            assert!(athena.contains(property), "{property} in {athena}");
        }
        assert!(!athena.contains("MSCK REPAIR TABLE"), "{athena}");
        let spark = ddl(Engine::Spark, "t", "/lake/events", &known);
        let using = spark.find("USING PARQUET").unwrap_or(usize::MAX);
        let partitioned = spark.find("PARTITIONED BY").unwrap_or(0);
        let location = spark.find("LOCATION").unwrap_or(0);
        assert!(using < partitioned && partitioned < location, "{spark}");
    }
}
