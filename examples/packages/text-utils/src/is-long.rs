/// Words of more than three characters.
fn is_long(w: Word) -> Result<bool> {
    Ok(w.text.chars().count() > 3)
}
