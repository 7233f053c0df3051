CREATE TABLE `batch_items` (
	`batch_id` text PRIMARY KEY NOT NULL,
	`items` text NOT NULL,
	FOREIGN KEY (`batch_id`) REFERENCES `batches`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `batch_items` (`batch_id`, `items`) SELECT `id`, `items` FROM `batches`;--> statement-breakpoint
ALTER TABLE `batches` DROP COLUMN `items`;