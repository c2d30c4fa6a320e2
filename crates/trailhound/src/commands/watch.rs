//! `trailhound watch`: follow buckets, queues and folders with the pipeline's monitor, and
//! say what each poll did.

use std::path::Path;

use anyhow::Context;
use trailhound_lake::{Access, Lake};
use trailhound_pipeline::IngestMessage;
use trailhound_pipeline::posture::PostureSchedule;
use trailhound_pipeline::watch::{
    Followed, FollowedBucket, FollowedFolder, FollowedQueue, Monitor, MonitorSettings,
    PollObserver, PollReport, Problem, S3Trail, Severity, Sqs,
};
use trailhound_source::S3Url;

use crate::cli::{GlobalArgs, WatchArgs};
use crate::commands::cat::selection;
use crate::exit;
use crate::read_report::ReadReporter;

pub(crate) fn run(args: WatchArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    // Everything that can be wrong with the configuration is found before the first poll.
    let alerting = crate::commands::alert::load(global)?;
    for warning in alerting.check()? {
        eprintln!("warning: {warning}");
    }
    let selection = selection(&args.pipeline.selection)?;
    let rules = (!args.pipeline.no_detect)
        .then(|| crate::commands::rules::load(&args.pipeline.rules))
        .transpose()?;
    let s3 = args.pipeline.read.s3.settings();
    let mut followed: Vec<Box<dyn Followed>> = Vec::new();
    for text in &args.sources {
        followed.push(if text.starts_with("s3://") {
            let trail = S3Trail::open(&S3Url::parse(text)?, &s3, &selection)?;
            Box::new(FollowedBucket(trail))
        } else {
            Box::new(FollowedFolder::open(Path::new(text))?)
        });
    }
    let visibility = u64::try_from(args.sqs_visibility_timeout.num_seconds()).unwrap_or(300);
    for url in &args.sqs {
        followed.push(Box::new(FollowedQueue::new(
            Sqs::open(url, &s3)?,
            visibility,
        )));
    }
    let config = crate::commands::alert::pipeline_config(global)?;
    let posture_config = config.posture.clone().unwrap_or_default();
    let posture_every = args
        .posture_every
        .and_then(|every| every.to_std().ok())
        .or(posture_config.every);
    let reports = config
        .reports
        .iter()
        .map(|schedule| {
            trailhound_pipeline::reports::ScheduledReport::new(
                schedule.clone(),
                &alerting.config().sinks,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data_dir = global.data_dir()?;
    let lake = Lake::open(&data_dir, Access::Write)
        .with_context(|| format!("cannot open the lake in {}", data_dir.display()))?;
    let describe = alerting.describe();
    let settings = MonitorSettings {
        read: args.pipeline.read.options(selection),
        rules,
        insights: (!args.pipeline.no_insights).then(trailhound_insights::Settings::default),
        posture: match posture_every {
            Some(every) => Some(PostureSchedule {
                every,
                settings: s3.clone(),
                regions: if args.posture_regions.is_empty() {
                    posture_config.regions.clone()
                } else {
                    args.posture_regions.clone()
                },
                convention: crate::commands::posture::convention(&posture_config),
                rules: trailhound_detect::builtin_rules()?,
            }),
            None => None,
        },
        retention: config.retention.clone(),
        alert_history: args.alert_history,
        ocsf: match (&args.ocsf_dir, &config.ocsf) {
            (Some(dir), configured) => Some(trailhound_pipeline::ocsf::OcsfSink {
                dir: dir.clone(),
                ..configured
                    .clone()
                    .unwrap_or_else(|| trailhound_pipeline::ocsf::OcsfSink::at(dir))
            }),
            (None, configured) => configured.clone(),
        },
        reports,
    };
    if let Some(retention) = &settings.retention {
        retention.check(&lake)?;
    }
    let scheduled_reports: Vec<String> = settings.reports.iter().map(|r| r.describe()).collect();
    let mut monitor = Monitor::new(lake, followed, alerting, settings)?;
    if !global.quiet {
        let mut sources: Vec<&str> = args
            .sources
            .iter()
            .chain(&args.sqs)
            .map(String::as_str)
            .collect();
        if posture_every.is_some() {
            sources.push("the trails' posture");
        }
        for line in &scheduled_reports {
            eprintln!("{line}");
        }
        eprintln!(
            "watching {} every {}s; findings go to {describe}",
            sources.join(", "),
            args.interval.num_seconds(),
        );
    }
    let interval = args
        .interval
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(60));
    let mut observer = Reporter {
        // Quiet: the poll's line is the summary; problems are still printed.
        read: ReadReporter::new(true),
        quiet: global.quiet,
    };
    let problems = monitor.run(interval, args.once, &mut observer)?;
    Ok(if problems {
        exit::INPUT_ERROR
    } else {
        exit::OK
    })
}

/// Prints problems as they come and a line per eventful poll.
struct Reporter {
    read: ReadReporter,
    quiet: bool,
}

impl PollObserver for Reporter {
    fn read(&mut self, message: &IngestMessage) {
        self.read.observe(message);
    }

    fn problem(&mut self, problem: &Problem) {
        match problem.severity {
            Severity::Error => eprintln!("error: {}", problem.message),
            Severity::Warning => eprintln!("warning: {}", problem.message),
        }
    }

    fn polled(&mut self, poll: &PollReport) {
        if self.quiet || !poll.is_eventful() {
            return;
        }
        let alerts = poll.alerts;
        let mut line = format!(
            "{}: {} new objects, {} new events, {} findings, {} Insights; {} alerts sent",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            poll.objects,
            poll.events_new,
            poll.findings,
            poll.insights,
            alerts.sent,
        );
        if alerts.pending > 0 {
            line.push_str(&format!(", {} waiting for their sink", alerts.pending));
        }
        if poll.ocsf_events > 0 {
            line.push_str(&format!("; {} events written as OCSF", poll.ocsf_events));
        }
        if poll.problems > 0 {
            line.push_str(&format!("; {} problems (see above)", poll.problems));
        }
        eprintln!("{line}");
    }
}
