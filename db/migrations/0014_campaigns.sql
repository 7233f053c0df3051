CREATE TABLE `campaign_recipients` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`campaign_id` text NOT NULL,
	`normalized` text NOT NULL,
	`email` text NOT NULL,
	`row_index` integer NOT NULL,
	`status` text NOT NULL,
	`batch_id` text,
	`relay_id` text,
	`queue_id` text,
	`reply` text,
	`unsubscribed_at` integer,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `campaign_recipients_key` ON `campaign_recipients` (`campaign_id`,`normalized`);--> statement-breakpoint
CREATE INDEX `campaign_recipients_batch` ON `campaign_recipients` (`batch_id`,`status`);--> statement-breakpoint
CREATE INDEX `campaign_recipients_status` ON `campaign_recipients` (`campaign_id`,`status`,`id`);--> statement-breakpoint
CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`job_id` text NOT NULL,
	`sender_id` text NOT NULL,
	`template_id` text NOT NULL,
	`include_risky` integer DEFAULT false NOT NULL,
	`send_at` integer,
	`rate_per_hour` integer,
	`status` text NOT NULL,
	`status_reason` text,
	`consent_basis` text NOT NULL,
	`consent_source` text NOT NULL,
	`created_by` text NOT NULL,
	`snapshot` text,
	`materialized_through` integer DEFAULT -1 NOT NULL,
	`materialized` integer DEFAULT false NOT NULL,
	`audience` integer DEFAULT 0 NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`unknown_outcome` integer DEFAULT 0 NOT NULL,
	`suppressed` integer DEFAULT 0 NOT NULL,
	`skipped_unverified` integer DEFAULT 0 NOT NULL,
	`unsubscribed` integer DEFAULT 0 NOT NULL,
	`bounced` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `campaigns_account` ON `campaigns` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `campaigns_status` ON `campaigns` (`status`);--> statement-breakpoint
CREATE INDEX `campaigns_job` ON `campaigns` (`job_id`);--> statement-breakpoint
CREATE TABLE `relays` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`security` text NOT NULL,
	`username` text,
	`password` text,
	`max_per_minute` integer NOT NULL,
	`max_per_day` integer NOT NULL,
	`tested_at` integer,
	`test_ok` integer,
	`test_detail` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `relays_account` ON `relays` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `send_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`campaign_id` text NOT NULL,
	`account_id` text NOT NULL,
	`status` text NOT NULL,
	`size` integer NOT NULL,
	`probe_id` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`not_before` integer DEFAULT 0 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `send_batches_campaign` ON `send_batches` (`campaign_id`,`status`);--> statement-breakpoint
CREATE INDEX `send_batches_status_not_before` ON `send_batches` (`status`,`not_before`);--> statement-breakpoint
CREATE INDEX `send_batches_status_lease` ON `send_batches` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE TABLE `senders` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`from_email` text NOT NULL,
	`from_name` text NOT NULL,
	`reply_to` text,
	`relay_ids` text NOT NULL,
	`bounce_domain` text,
	`dkim_selector` text,
	`confirmed_at` integer,
	`confirmation_sent_at` integer,
	`checklist` text,
	`checked_at` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `senders_account` ON `senders` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `suppressions` (
	`account_id` text NOT NULL,
	`email` text NOT NULL,
	`reason` text NOT NULL,
	`campaign_id` text,
	`source` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`account_id`, `email`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `suppressions_account_created` ON `suppressions` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`subject` text NOT NULL,
	`html` text NOT NULL,
	`text` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `templates_account` ON `templates` (`account_id`,`created_at`);