CREATE TABLE `bounce_mailboxes` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`security` text NOT NULL,
	`username` text NOT NULL,
	`password` text NOT NULL,
	`folder` text DEFAULT 'INBOX' NOT NULL,
	`processed_folder` text,
	`probe_id` text,
	`epoch` integer DEFAULT 0 NOT NULL,
	`assigned_at` integer,
	`uidvalidity` integer,
	`last_uid` integer DEFAULT 0 NOT NULL,
	`poll_requested_at` integer,
	`last_polled_at` integer,
	`last_error` text,
	`messages_seen` integer DEFAULT 0 NOT NULL,
	`messages_ours` integer DEFAULT 0 NOT NULL,
	`tested_at` integer,
	`test_ok` integer,
	`test_detail` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `bounce_mailboxes_account` ON `bounce_mailboxes` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `bounce_mailboxes_probe` ON `bounce_mailboxes` (`probe_id`);--> statement-breakpoint
CREATE TABLE `bounces` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`email` text NOT NULL,
	`kind` text NOT NULL,
	`category` text,
	`action` text,
	`status` text,
	`diagnostic` text,
	`remote_mta` text,
	`source` text NOT NULL,
	`campaign_id` text,
	`recipient_id` integer,
	`mailbox_id` text,
	`dedupe_key` text NOT NULL,
	`raw` text,
	`raw_truncated` integer DEFAULT false NOT NULL,
	`refund_job_id` text,
	`refund_normalized` text,
	`verified_mx` text,
	`verified_probe_id` text,
	`occurred_at` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bounces_dedupe` ON `bounces` (`account_id`,`dedupe_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `bounces_refund` ON `bounces` (`refund_job_id`,`refund_normalized`);--> statement-breakpoint
CREATE INDEX `bounces_account_created` ON `bounces` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `bounces_account_email` ON `bounces` (`account_id`,`email`);--> statement-breakpoint
CREATE INDEX `bounces_recipient` ON `bounces` (`campaign_id`,`recipient_id`);--> statement-breakpoint
CREATE TABLE `soft_bounce_scores` (
	`account_id` text NOT NULL,
	`email` text NOT NULL,
	`score` real NOT NULL,
	`last_day` integer NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`account_id`, `email`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `accounts` ADD `soft_bounce_threshold` real DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE `accounts` ADD `soft_bounce_reset_days` integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE `campaign_recipients` ADD `bounced_at` integer;--> statement-breakpoint
ALTER TABLE `campaign_recipients` ADD `bounce_kind` text;