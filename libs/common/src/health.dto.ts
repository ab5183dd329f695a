import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** The documented shape of a Terminus health report (/health/live, /health/ready). */

@ApiSchema({ name: 'HealthCheck', description: 'One check: status up or down, and why when down.' })
export class HealthCheckDto {
  @ApiProperty({ enum: ['up', 'down'], description: 'up when the check passed.' })
  status!: 'up' | 'down';

  @ApiProperty({ required: false, description: 'Why it is down.', example: 'connect ECONNREFUSED 127.0.0.1:6379' })
  message?: string;
}

@ApiSchema({ name: 'HealthReport', description: 'A Terminus health report (not a Problem).' })
export class HealthReportDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], description: 'ok when every check is up.' })
  status!: 'ok' | 'error' | 'shutting_down';

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/HealthCheck' },
    description: 'The checks that are up, by name (database, redis, migrations).',
  })
  info!: Record<string, HealthCheckDto>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/HealthCheck' },
    description: 'The checks that are down, by name, with why.',
  })
  error!: Record<string, HealthCheckDto>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/HealthCheck' },
    description: 'Every check, by name.',
  })
  details!: Record<string, HealthCheckDto>;
}
