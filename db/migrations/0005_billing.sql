CREATE TABLE `billing` (
	`account_id` text PRIMARY KEY NOT NULL,
	`stripe_customer_id` text,
	`auto_topup_enabled` integer DEFAULT false NOT NULL,
	`auto_topup_threshold` integer DEFAULT 1000 NOT NULL,
	`auto_topup_pack` text DEFAULT 'credits_10k' NOT NULL,
	`auto_topup_state` text DEFAULT 'idle' NOT NULL,
	`auto_topup_attempt` integer DEFAULT 0 NOT NULL,
	`auto_topup_at` integer,
	`auto_topup_error` text,
	`auto_topup_payment_intent` text,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `billing_stripe_customer_id_unique` ON `billing` (`stripe_customer_id`);