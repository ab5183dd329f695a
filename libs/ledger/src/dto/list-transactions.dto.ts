import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';

export class ListTransactionsQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 200,
    default: 20,
    description: 'Transactions per page, newest first (default 20, at most 200).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  /** The `next_cursor` of the previous page. */
  @ApiPropertyOptional({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'The next_cursor of the previous page; omit for the first page.' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor must be a next_cursor value' })
  cursor?: string;
}

export class ListWalletTransactionsQuery extends ListTransactionsQuery {
  @ApiPropertyOptional({
    pattern: '^[A-Za-z0-9_.:@-]{1,128}$',
    description: "Only the transactions of this spender's holds (reserve, settle, release, expire).",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'spender_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  spender_id?: string;

  @ApiPropertyOptional({ format: 'uuid', description: "Only the transactions of the holds this API key made (the key's id)." })
  @IsOptional()
  @IsUUID('all', { message: 'api_key_id must be an API key id (a UUID)' })
  api_key_id?: string;
}
