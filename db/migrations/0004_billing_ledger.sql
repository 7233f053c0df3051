CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`object_id` text,
	`outcome` text NOT NULL,
	`code` text,
	`payload` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `stripe_events_outcome` ON `stripe_events` (`outcome`,`created_at`);--> statement-breakpoint
CREATE TABLE `stripe_payments` (
	`payment_intent` text PRIMARY KEY NOT NULL,
	`account_id` text,
	`checkout_session` text,
	`credits` integer,
	`amount` integer,
	`amount_refunded` integer DEFAULT 0 NOT NULL,
	`disputed` integer DEFAULT false NOT NULL,
	`taken_back` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `stripe_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text,
	`customer_id` text,
	`plan` text,
	`status` text NOT NULL,
	`ended_at` integer,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `stripe_subscriptions_account` ON `stripe_subscriptions` (`account_id`);--> statement-breakpoint
-- Edited by hand: SQLite adds a NOT NULL column only with a default; every writer sets both
-- columns, and the rows already there get theirs from their kind and key below.
ALTER TABLE `credit_ledger` ADD `reason` text NOT NULL DEFAULT 'admin_adjustment';--> statement-breakpoint
ALTER TABLE `credit_ledger` ADD `actor` text NOT NULL DEFAULT 'system';--> statement-breakpoint
UPDATE `credit_ledger` SET
	`reason` = CASE
		WHEN `idempotency_key` LIKE 'grant:signup:%' THEN 'signup_grant'
		WHEN `kind` = 'purchase' THEN 'purchase'
		WHEN `kind` = 'reserve' THEN 'job_reserve'
		WHEN `kind` = 'refund' THEN 'refund_unknowns'
		WHEN `kind` = 'settle' THEN 'single_check'
		ELSE 'admin_adjustment'
	END,
	`actor` = CASE WHEN `idempotency_key` LIKE 'grant:signup:%' THEN substr(`idempotency_key`, 14) ELSE 'system' END;