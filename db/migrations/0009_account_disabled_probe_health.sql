CREATE TABLE `probe_minutes` (
	`probe_id` text NOT NULL,
	`minute` integer NOT NULL,
	`deliverable` integer DEFAULT 0 NOT NULL,
	`undeliverable` integer DEFAULT 0 NOT NULL,
	`risky` integer DEFAULT 0 NOT NULL,
	`unknown` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`probe_id`, `minute`)
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `disabled_at` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `disabled_reason` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `counted_probe_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `counted_minute` integer;--> statement-breakpoint
ALTER TABLE `probes` ADD `self_check` text;--> statement-breakpoint
ALTER TABLE `probes` ADD `shared_state` text;--> statement-breakpoint
-- A posted chunk's counter move on its job, credited to the probe that posted it, per minute
-- (/admin's throughput and verdict mix). The chunk's write names the probe on the job row; this
-- turns the move into the probe's minute, so the hot write needs no second pass over its answers.
CREATE TRIGGER `jobs_probe_minutes` AFTER UPDATE OF `processed` ON `jobs`
WHEN new.processed > old.processed AND new.counted_probe_id IS NOT NULL
BEGIN
  INSERT INTO probe_minutes (probe_id, minute, deliverable, undeliverable, risky, unknown)
  VALUES (new.counted_probe_id, new.counted_minute, new.deliverable - old.deliverable, new.undeliverable - old.undeliverable, new.risky - old.risky, new.unknown - old.unknown)
  ON CONFLICT (probe_id, minute) DO UPDATE SET
    deliverable = deliverable + excluded.deliverable, undeliverable = undeliverable + excluded.undeliverable,
    risky = risky + excluded.risky, unknown = unknown + excluded.unknown;
END;
