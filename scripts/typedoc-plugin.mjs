// A TypeDoc plugin for `npm run docs` (typedoc.json): the members of OPTION_SCHEMA and
// DEFAULT_OPTIONS, whose types TypeScript infers from the schema's literal, take their comments
// from where those things are documented once: each option's from OtcaOptions, each field of a
// schema entry from OptionSpec. So every public field is documented, and written once.
import { Converter } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const project = context.project;
    const options = project.getChildByName(['index', 'OtcaOptions']);
    const specFields = new Map();
    for (const member of project.getChildByName(['index', 'OptionSpec'])?.type?.types ?? []) {
      for (const field of member.declaration?.children ?? []) if (field.comment) specFields.set(field.name, field.comment);
    }
    for (const r of Object.values(project.reflections)) {
      if (r.comment) continue;
      const name = r.getFullName();
      const option = /^index\.(?:OPTION_SCHEMA|DEFAULT_OPTIONS)\.__type\.(\w+)$/.exec(name);
      const field = /^index\.OPTION_SCHEMA\.__type\.\w+\.__type\.(\w+)$/.exec(name);
      const from = option ? options?.getChildByName(option[1])?.comment : field ? specFields.get(field[1]) : undefined;
      if (from) r.comment = from.clone();
    }
  });
}
