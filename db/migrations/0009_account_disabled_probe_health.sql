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
ALTER TABLE `probes` ADD `self_check` text;--> statement-breakpoint
ALTER TABLE `probes` ADD `shared_state` text;