//! `dangling-reference`: a name that refers to nothing (host, project, block, network,
//! environment, service or binding), with the closest existing name as help.

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for u in &cx.model.unresolved {
        let mut f = Finding::new(
            Rule::DanglingReference,
            format!(
                "{} refers to {} `{}`, which does not exist",
                u.referrer,
                u.kind.noun(),
                u.name
            ),
        )
        .subject(u.name.clone())
        .at(u.loc, format!("no {} named `{}`", u.kind.noun(), u.name));
        f = match &u.suggestion {
            Some(s) => f.help(format!("did you mean `{s}`?")),
            None => f.help(format!("declare the {} or fix the name", u.kind.noun())),
        };
        out.push(f);
    }
}
