import { OWNER_ID } from '@app/common';
import { IsOptional, IsString, IsUrl, Length, Matches } from 'class-validator';

export class CreateCheckoutSessionDto {
  @IsString()
  @Matches(OWNER_ID, { message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  owner_id!: string;

  /** A pack of the catalog (mode payment). Give this or plan_id. */
  @IsOptional()
  @IsString()
  @Length(1, 40)
  pack_id?: string;

  /** A plan of the catalog (mode subscription). */
  @IsOptional()
  @IsString()
  @Length(1, 40)
  plan_id?: string;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  success_url!: string;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  cancel_url!: string;
}

export class CreatePortalSessionDto {
  @IsString()
  @Matches(OWNER_ID, { message: 'owner_id must be 1-128 characters of A-Z a-z 0-9 _ . : @ -' })
  owner_id!: string;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  return_url!: string;
}
